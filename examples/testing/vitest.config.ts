// vitest for the testing example only: its own files, so that vitest never picks up the
// node:test, Deno or Bun files beside them (nor the suite in tests/).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL(".", import.meta.url).pathname,
    include: ["*.vitest.ts"],
    // One file at a time: the files of a project that has several each start the one app.
    fileParallelism: false,
  },
});
