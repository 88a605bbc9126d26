// A worker thread of `atc data generate`: computes its share of the symbols (generate-rows.ts).
import { workerData } from 'node:worker_threads';
import { type GenerateWorkerData, produce } from './generate-rows.js';

produce(workerData as GenerateWorkerData);
