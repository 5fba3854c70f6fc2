export { createMemoryStore, type MemoryFeature, type MemoryStoreOptions } from './store.js';
