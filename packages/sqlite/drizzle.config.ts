import { defineConfig } from 'drizzle-kit';

// `pnpm db:generate` regenerates the SQL migrations shipped in drizzle/ from src/schema.ts.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/schema.ts',
  out: './drizzle',
});
