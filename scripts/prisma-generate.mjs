// `prisma generate` only reads the schema, but the Prisma CLI insists on a schema-engine binary it
// cannot download on offline machines; the documented override accepts any existing file.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
execFileSync("npx", ["--no-install", "prisma", "generate"], { stdio: "inherit", env });
