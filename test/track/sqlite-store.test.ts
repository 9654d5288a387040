import { storeConformance } from './store-conformance.js';
import { tempSqlite } from './helpers.js';

storeConformance('sqlite', tempSqlite);
