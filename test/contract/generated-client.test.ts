// A TypeScript client generated from the committed OpenAPI document with @hey-api/openapi-ts runs
// the seed: examples/typescript-client/seed.ts (what the README shows) is type-checked strictly
// against the generated client — with an @ts-expect-error that only holds if the probe's protocol
// is really typed — and then run against a live lbplane. The generated code goes to a temp dir.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, OPENAPI_DOCUMENT, REPO, listeningLbplane, runTool } from "./contract-kit.js";

const SEED = join(REPO, "examples/typescript-client/seed.ts");

describe("a client generated from openapi/openapi.json", () => {
  let dir: string;
  let lbplane: Awaited<ReturnType<typeof listeningLbplane>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lbplane-o1-sdk-"));
    lbplane = await listeningLbplane();
  }, 120_000);
  afterAll(async () => {
    await lbplane?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is generated, type-checks without casts, and runs the seed: typed rules and probes, the conflict as a typed error", { timeout: 600_000 }, async () => {
    const generated = await runTool("openapi-ts", ["-i", OPENAPI_DOCUMENT, "-o", join(dir, "client"), "-c", "@hey-api/client-fetch"]);
    expect(generated.code, generated.stderr).toBe(0);

    // The program the README shows, unmodified, next to the generated client.
    const source = readFileSync(SEED, "utf8");
    expect(source.replace(/^\s*\/\/.*$/gm, "")).not.toMatch(/\bas\s+(?!const\b)[A-Za-z{[(]|<any>|:\s*any\b/);
    cpSync(SEED, join(dir, "seed.ts"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2023", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2023", "DOM", "DOM.Iterable"],
        strict: true, noEmit: true, skipLibCheck: false, types: ["node"], typeRoots: [join(REPO, "node_modules/@types")],
      },
      files: ["seed.ts"],
    }));
    // TypeScript 6's tsc (the JS API the generator needs); the repository's typecheck runs TypeScript 7.
    const checked = await runTool(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", dir], { cwd: dir });
    expect(checked.code, `${checked.stdout}\n${checked.stderr}`).toBe(0);

    const ran = await runTool(process.execPath, [join(REPO, "node_modules/tsx/dist/cli.mjs"), join(dir, "seed.ts")], {
      cwd: dir, env: { LBPLANE_URL: lbplane.url, TOKEN: ADMIN_TOKEN },
    });
    expect(ran.code, ran.stderr).toBe(0);
    const steps = Object.fromEntries(
      ran.stdout.trim().split("\n").map((line) => JSON.parse(line) as { step: string }).map((s) => [s.step, s as Record<string, unknown>]),
    );
    expect(steps.resourceGroup).toMatchObject({ status: 201, provisioningState: "Succeeded" });
    expect(steps.loadBalancer).toMatchObject({ status: 201 });
    expect(steps.loadBalancer.etag).toEqual(expect.any(String));
    expect(steps.loadBalancer.asyncOperation).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/subscriptions\/.*\/operations\//);
    expect(steps.rules).toMatchObject({
      status: 200,
      rules: ["vip1: Tcp 80 -> 80", "vip2: Tcp 8080 -> 8080", "vip3: Udp 80 -> 80", "vip4: Tcp 80 -> 81"],
    });
    expect(steps.probe).toMatchObject({ status: 200, port: 80, protocol: "Tcp" });
    expect(steps.conflict).toMatchObject({ status: 400 });
    expect(steps.conflict.code).toMatch(/UseSameBackendPortProtocol/);
    expect((steps.conflict.details as string[]).join("\n")).toMatch(/loadBalancingRules\[0\]/);
  });
});
