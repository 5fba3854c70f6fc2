import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser connection string of the PostgreSQL server started for this test run. */
    strataPostgresUrl: string;
  }
}
