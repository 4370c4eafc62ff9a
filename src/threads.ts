// Worker threads for the build's CPU work (parsing, MJML), started the same way from the TypeScript
// sources (tests, tsx) and from the bundle that bin/kurier.js runs.

import { parentPort, type ResourceLimits, Worker } from 'node:worker_threads';
import { writeCodeCaches } from './code-cache.ts';
import { type ErrorCode, KurierError } from './error.ts';

/** A worker thread that answers its tasks one at a time, in order. */
export interface TaskWorker<Request, Response> {
  /** Settles when the worker has loaded its modules; rejects if it could not. */
  readonly ready: Promise<void>;
  run(request: Request): Promise<Response>;
  stop(): Promise<void>;
}

export interface WorkerModule {
  /** Relative to src/, e.g. "build/parse-worker.ts". */
  readonly source: string;
  /** The entry's name in the bundle, e.g. "parse-worker" (bin/kurier.js bundles it beside kurier.js). */
  readonly bundled: string;
}

/** KurierError does not survive structured cloning between threads; its fields do. */
export interface SerializedError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly file?: string | undefined;
  readonly line?: number | undefined;
}

export function serializeError(error: KurierError): SerializedError {
  return { code: error.code, message: error.message, file: error.file, line: error.line };
}

export function deserializeError(error: SerializedError): KurierError {
  return new KurierError(error.code, error.message, { file: error.file, line: error.line });
}

/** A worker thread of `module`, from the sources or from the bundle, whichever is running. */
export function startWorker(
  module: WorkerModule,
  workerData: unknown,
  resourceLimits?: ResourceLimits,
): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL(`./${module.bundled}.js`, import.meta.url), { workerData, resourceLimits });
  }
  // From the sources, the worker registers the tsx loader before it loads itself.
  const source = new URL(`./${module.source}`, import.meta.url).href;
  return new Worker(
    `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`,
    { eval: true, workerData, resourceLimits },
  );
}

export function startTaskWorker<Request, Response>(
  module: WorkerModule,
  workerData: unknown,
): TaskWorker<Request, Response> {
  // A young generation of 8 MB instead of V8's default: a first build of 1,000 articles peaked 26 MB lower
  // at the same time and CPU (the parse and email threads' garbage is short-lived).
  const worker = startWorker(module, workerData, { maxYoungGenerationSizeMb: 8 });
  // The worker answers in the order it was asked, so the oldest waiting task gets the next answer.
  const pending: { resolve: (response: Response) => void; reject: (error: Error) => void }[] = [];
  let failure: Error | undefined;
  // Listeners go on at once: the worker's "ready" may come before anyone asks for it.
  const ready = new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => {
      failure ??= error;
      reject(error);
      for (const task of pending.splice(0)) task.reject(error);
    };
    worker.on('message', (message: 'ready' | { response: Response }) => {
      if (message === 'ready') resolve();
      else pending.shift()?.resolve(message.response);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`a ${module.bundled} thread stopped with exit code ${code}`));
    });
  });
  ready.catch(() => undefined);
  return {
    ready,
    run: (request) =>
      new Promise((resolve, reject) => {
        if (failure !== undefined) return reject(failure);
        pending.push({ resolve, reject });
        worker.postMessage(request);
      }),
    stop: async () => {
      await worker.terminate();
    },
  };
}

/**
 * The worker side: answers every task with `handle`, one after another, after announcing that it is ready.
 * The caller pairs answers with tasks by their order: two async tasks (MJML 5 compiles asynchronously) run
 * side by side could finish the other way round and give one article's email to another.
 */
export function serveTasks<Request, Response>(
  handle: (request: Request) => Response | Promise<Response>,
  /** The buffers an answer moves to the caller instead of copying (they become unusable here). */
  transfer?: (response: Response) => ArrayBuffer[],
): void {
  const port = parentPort;
  if (port === null) throw new Error('serveTasks runs only in a worker thread');
  let previous = Promise.resolve();
  port.on('message', (request: Request) => {
    previous = previous.then(async () => {
      const response = await handle(request);
      // Only the first task of a new bundle's folder writes anything: the bundled packages' code caches.
      writeCodeCaches();
      port.postMessage({ response }, transfer?.(response) ?? []);
    });
  });
  port.postMessage('ready');
}
