// Prisma 7 reads the connection from here, not from schema.prisma. lbplane itself never calls the
// Prisma CLI at run time (migrations are applied by src/store/migrator.ts); this file only serves
// `prisma generate` and, on a connected machine, `prisma migrate status`.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/lbplane" },
});
