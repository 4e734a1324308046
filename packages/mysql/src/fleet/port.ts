/** The fleet budget's port, declared in `@cachefront/common` (budget.ts) for this package and the Redis implementation alike. */
export type {
  BudgetAcquireOptions,
  BudgetGrant,
  BudgetHandOver,
  BudgetHandOverOptions,
  BudgetLease,
  BudgetLeaseState,
  ConnectionBudget,
} from '@cachefront/common';
