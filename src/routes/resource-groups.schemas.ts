// Wire shapes of Microsoft.Resources/resourceGroups (api-version 2025-04-01). Request bodies reject
// unknown members so a misspelled field is an error, not silently dropped.

import { Type, type Static } from "typebox";
import { LocationSchema, TagsSchema } from "./arm-common.js";
import { Errors } from "../errors.js";
import { isValidResourceName } from "../domain/ids.js";

const strict = { additionalProperties: false } as const;

/** Read-only members a client may echo back from a GET; accepted and ignored. */
const echoedReadOnly = {
  id: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
};

const PropertiesBody = Type.Object({ provisioningState: Type.Optional(Type.String()) }, strict);

export const ResourceGroupBodySchema = Type.Object(
  {
    location: LocationSchema,
    tags: Type.Optional(TagsSchema),
    managedBy: Type.Optional(Type.String({ maxLength: 1024 })),
    properties: Type.Optional(PropertiesBody),
    ...echoedReadOnly,
  },
  { ...strict, description: "Resource group to create or update" },
);
export type ResourceGroupBody = Static<typeof ResourceGroupBodySchema>;

export const ResourceGroupPatchSchema = Type.Object(
  {
    tags: Type.Optional(TagsSchema),
    managedBy: Type.Optional(Type.String({ maxLength: 1024 })),
    properties: Type.Optional(PropertiesBody),
    ...echoedReadOnly,
  },
  { ...strict, description: "Resource group changes: tags (replacing the whole set) and managedBy" },
);
export type ResourceGroupPatch = Static<typeof ResourceGroupPatchSchema>;

export const ResourceGroupSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    type: Type.String(),
    location: Type.String(),
    tags: TagsSchema,
    managedBy: Type.Optional(Type.String()),
    properties: Type.Object({ provisioningState: Type.String() }),
  },
  { description: "Resource group" },
);
export type ResourceGroupResource = Static<typeof ResourceGroupSchema>;

export const ResourceGroupListSchema = Type.Object({
  value: Type.Array(ResourceGroupSchema),
  nextLink: Type.Optional(Type.String()),
});

export const OperationResultParams = Type.Object({ subscriptionId: Type.String(), operationId: Type.String() });

/** Azure's resource group naming rule, with Azure's code for a violation. */
export function checkResourceGroupName(name: string): void {
  if (!isValidResourceName(name, "resourceGroup")) {
    throw Errors.invalidResourceGroupName(name);
  }
}
