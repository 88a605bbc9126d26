// DuckDB queries that call back into JavaScript (table functions fed from typed arrays or rows):
// a process that exits while one runs never ends (a DuckDB thread waits for a callback that the
// exiting main thread no longer runs, and the exit waits for that thread). So an exit asked for
// meanwhile waits for them; they take milliseconds.

let inFlight = 0;
let exitCode: number | undefined;

/** Run a query that calls back into JavaScript; once an exit is asked for, none starts. */
export async function callbackQuery<T>(run: () => Promise<T>): Promise<T> {
  if (exitCode !== undefined) return new Promise<T>(() => undefined);
  inFlight++;
  try {
    return await run();
  } finally {
    inFlight--;
    if (exitCode !== undefined && inFlight === 0) process.exit(exitCode);
  }
}

/** process.exit(code) as soon as no such query runs. */
export function exitSoon(code: number): void {
  exitCode = code;
  if (inFlight === 0) process.exit(code);
}
