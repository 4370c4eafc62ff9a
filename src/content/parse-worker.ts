// A worker thread of parse-parallel.ts: parses the article files it is sent and posts back the results.

import { parentPort, workerData } from 'node:worker_threads';
import {
  type ParseRequest,
  type ParseResult,
  type ParseWorkerData,
  planParseResult,
} from './parse-parallel.ts';
import { parseSite } from './settings.ts';

const { settings } = workerData as ParseWorkerData;
const site = parseSite(settings.text, settings.path);
const port = parentPort;

port?.on('message', (request: ParseRequest) => {
  const results: ParseResult[] = request.files.map((file) => planParseResult(file, site));
  port.postMessage({ results });
});
port?.postMessage('ready');
