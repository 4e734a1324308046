/**
 * `@cachefront/mysql/testing`: the fleet budget's contract suite (for vitest, an optional peer
 * dependency) and an in-memory budget that passes it, for a budget store of your own or for unit
 * tests of code that takes a budget.
 */
export { type BudgetFactory, type BudgetFactoryOptions, runBudgetContract } from './budget-contract.js';
export { MemoryBudget, type MemoryBudgetOptions } from './memory-budget.js';
