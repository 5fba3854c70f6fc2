import { checkpointCases } from './checkpoints.cases.js';
import { eventCases } from './events.cases.js';
import { faultCases } from './faults.cases.js';
import { lifecycleCases } from './lifecycle.cases.js';
import { queueCases } from './queue.cases.js';
import { settingsCases } from './settings.cases.js';
import { siblingCases } from './sibling.cases.js';
import { snapshotCases } from './snapshots.cases.js';
import { subscriptionCases } from './subscriptions.cases.js';
import { transactionCases } from './transactions.cases.js';
import { transferCases } from './transfer.cases.js';
import type { ConformanceCase } from './types.js';
import { validationCases } from './validation.cases.js';

/**
 * Every case of the suite, in a stable order. The checks that the factory applied the suite's settings
 * (`lifecycle.settings.*`) come first; the cases between two stores on the same data (`*.sibling.*`,
 * run only with a sibling) come last.
 */
export const conformanceCases: readonly ConformanceCase[] = Object.freeze([
  ...settingsCases,
  ...eventCases,
  ...snapshotCases,
  ...queueCases,
  ...checkpointCases,
  ...transactionCases,
  ...subscriptionCases,
  ...transferCases,
  ...validationCases,
  ...lifecycleCases,
  ...faultCases,
  ...siblingCases,
]);
