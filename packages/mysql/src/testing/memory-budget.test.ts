import { runBudgetContract } from './budget-contract.js';
import { MemoryBudget } from './memory-budget.js';

runBudgetContract('memory', (options) => new MemoryBudget(options));
