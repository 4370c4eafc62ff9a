// A worker thread of parse-parallel.ts: parses the article files it is sent and answers with the results.

import { workerData } from 'node:worker_threads';
import { serveTasks } from '../threads.ts';
import {
  type ParseRequest,
  type ParseResult,
  type ParseWorkerData,
  planParseResult,
} from './parse-parallel.ts';
import { parseSite } from './settings.ts';

const { settings } = workerData as ParseWorkerData;
const site = parseSite(settings.text, settings.path);

serveTasks<ParseRequest, ParseResult[]>((request) =>
  request.files.map((file) => planParseResult(file, site)),
);
