import { RedisDriver } from '@cachefront/cache';
import { runDriverContract } from '../../packages/cache/src/testing/driver-contract.js';
import { REDIS_URL } from '../support/env.js';

runDriverContract('redis (single node)', () => new RedisDriver(REDIS_URL));
