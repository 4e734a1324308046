import { runDriverContract } from '../testing/driver-contract.js';
import { MemoryDriver } from './memory-driver.js';

runDriverContract('memory', () => new MemoryDriver());
