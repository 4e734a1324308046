import { runDriverContract } from '@cachefront/cache/testing';
import { MemoryDriver } from './memory-driver.js';

runDriverContract('memory', () => new MemoryDriver());
