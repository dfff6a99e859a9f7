import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Network-namespace and real-traffic suites share machine-wide state (ports, nft tables).
    fileParallelism: true,
    maxWorkers: 2,
  },
});
