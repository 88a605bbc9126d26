// Option names (camelCase) and their flags (kebab-case).

/** kebab-case flag -> camelCase option (`chunk-bars` -> `chunkBars`). */
export const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
/** camelCase option -> kebab-case flag. */
export const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
