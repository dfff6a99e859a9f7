// The pure domain of lbplane: defaults, validation (the uniqueness law), claims, compilation and
// effective mappings over plain data. No framework, database or network imports below this line.

export * from "./model.js";
export * from "./agent-protocol.js";
export * from "./ids.js";
export * from "./collections.js";
export * from "./ip.js";
export * from "./issues.js";
export * from "./defaults.js";
export * from "./limits.js";
export * from "./resolve.js";
export * from "./claims.js";
export { checkUniqueness, rulePath } from "./uniqueness.js";
export * from "./validate.js";
export * from "./compile.js";
export * from "./outbound.js";
export * from "./mappings.js";
export * from "./backrefs.js";
