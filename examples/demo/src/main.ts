import { createMemoryStore } from '@strata/core';
import { runDemo } from './demo.js';

const store = createMemoryStore();
console.log('Strata demo on the in-memory adapter\n');
try {
  await runDemo(store, (line) => console.log(line));
} finally {
  await store.close();
}
console.log('\ndone');
