// Swagger UI at /docs, set up to work on the first click: the bearer token survives a reload
// (persistAuthorization), "Try it out" is open, each operation shows how long it took, and the
// examples and api-version defaults of the document pre-fill every field (see examples.ts).

export const SWAGGER_UI_CONFIG = {
  persistAuthorization: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  displayOperationId: true,
  docExpansion: "list" as const,
  filter: true,
  defaultModelsExpandDepth: 0,
};
