export type { BudgetAcquireOptions, BudgetGrant, BudgetHandOver, BudgetHandOverOptions, BudgetLease, BudgetLeaseState, ConnectionBudget } from './budget.js';
export { Emitter, type Listener } from './emitter.js';
export { CachefrontError } from './errors.js';
export { definedOnly, NAME } from './options.js';
export { sleep, type TimeoutOptions, withTimeout } from './timeout.js';
