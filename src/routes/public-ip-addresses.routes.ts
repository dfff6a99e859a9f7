// Microsoft.Network/publicIPAddresses. PUT completes synchronously: the SDK's poller sees
// provisioningState Succeeded in the PUT response and resolves without polling.

import type { FastifyInstance, FastifyRequest } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { NETWORK_API_VERSIONS } from "./api-versions.js";
import { checkName, checkPreconditions, listAnswer, pageRequestOf, sendStatusOnly, setEtagHeader } from "./arm-common.js";
import { PublicIpListSchema, PublicIpParams, PublicIpSchema, toPublicIpWrite, type PublicIpBody } from "./public-ip-addresses.schemas.js";
import {
  ETAG_HEADER, NetworkApiVersionQuery, NetworkListQuery, PreconditionHeaders, ResourceGroupParams, SubscriptionParams,
  TagsObjectSchema, armErrors, armErrorsWithConflict, armWriteErrors, noBody, withHeaders,
} from "./schemas/arm.schema.js";
import { TAGS_EXAMPLE } from "./schemas/examples.js";
import { callerScope } from "./auth.js";
import { toPublicIpResource } from "./public-ip-addresses.view.js";
import {
  deletePublicIp, getPublicIp, listPublicIps, putPublicIp, updatePublicIpTags, type EtagCheck, type PublicIpKey, type PublicIpRow,
} from "../services/public-ips.service.js";

const PIP_COLLECTION = "/subscriptions/:subscriptionId/resourceGroups/:resourceGroupName/providers/Microsoft.Network/publicIPAddresses";
const PIP_PATH = `${PIP_COLLECTION}/:publicIpAddressName`;
const tags = ["PublicIPAddresses"];
const config = { apiVersions: NETWORK_API_VERSIONS };

function keyOf(params: { subscriptionId: string; resourceGroupName: string; publicIpAddressName: string }): PublicIpKey {
  return { subscriptionId: params.subscriptionId, resourceGroupName: params.resourceGroupName, name: params.publicIpAddressName };
}

/**
 * The view renders a row whose SKU and properties PublicIpSchema checked on the way in, typed as
 * stored (strings); the response schema serializes it, so it is answered as the schema's type.
 */
const render = (request: FastifyRequest) => (row: PublicIpRow) => toPublicIpResource(row, callerScope(request)) as PublicIpBody;
const etagCheck = (request: FastifyRequest): EtagCheck => (current, id) => checkPreconditions(request, current, id);

export async function publicIpAddressRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const deps = () => app.deps;

  app.put(
    PIP_PATH,
    {
      config,
      schema: {
        operationId: "PublicIPAddresses_CreateOrUpdate",
        tags,
        summary: "Create or replace a public IP address (201 created, 200 updated)",
        description:
          "A Static address comes from properties.ipAddress (bring your own) or the configured pool. Errors: " +
          "IpAddressAlreadyAllocated, PublicIPAddressPoolExhausted, PublicIPv6AddressRequiresIpAddress, " +
          "PublicIPAddressInUseCannotChangeAddress, PublicIPAddressInUseCannotChangeSku, InvalidIPAddress.",
        params: PublicIpParams,
        querystring: NetworkApiVersionQuery,
        headers: PreconditionHeaders,
        body: PublicIpSchema,
        response: {
          ...armWriteErrors,
          200: withHeaders(PublicIpSchema, ETAG_HEADER, "Updated"),
          201: withHeaders(PublicIpSchema, ETAG_HEADER, "Created"),
        },
      },
    },
    async (request, reply) => {
      checkName(request.params.publicIpAddressName, "publicIPAddress");
      const write = toPublicIpWrite(request.body);
      const { row, created } = await putPublicIp(deps(), keyOf(request.params), write, etagCheck(request), callerScope(request));
      setEtagHeader(reply, row.etag);
      return reply.code(created ? 201 : 200).send(render(request)(row));
    },
  );

  app.get(
    PIP_PATH,
    {
      config,
      schema: {
        operationId: "PublicIPAddresses_Get",
        tags,
        summary: "Get a public IP address ($expand is accepted and ignored)",
        params: PublicIpParams,
        querystring: NetworkApiVersionQuery,
        response: { ...armErrors, 200: withHeaders(PublicIpSchema, ETAG_HEADER, "The public IP address") },
      },
    },
    async (request, reply) => {
      const row = await getPublicIp(deps(), keyOf(request.params));
      setEtagHeader(reply, row.etag);
      return render(request)(row);
    },
  );

  app.delete(
    PIP_PATH,
    {
      config,
      schema: {
        operationId: "PublicIPAddresses_Delete",
        tags,
        summary: "Delete a public IP address (200 deleted, 204 did not exist)",
        description: "Refused with 400 PublicIPAddressCannotBeDeleted while a load balancer frontend uses it.",
        params: PublicIpParams,
        querystring: NetworkApiVersionQuery,
        headers: PreconditionHeaders,
        response: { ...armErrorsWithConflict, 200: noBody("Deleted"), 204: noBody("It did not exist") },
      },
    },
    async (request, reply) => {
      const deleted = await deletePublicIp(deps(), keyOf(request.params), etagCheck(request), callerScope(request));
      // ARM's DELETE answers carry no body.
      return sendStatusOnly(reply, deleted ? 200 : 204);
    },
  );

  app.patch(
    PIP_PATH,
    {
      config,
      schema: {
        operationId: "PublicIPAddresses_UpdateTags",
        tags,
        summary: "Replace a public IP address's tags",
        params: PublicIpParams,
        querystring: NetworkApiVersionQuery,
        headers: PreconditionHeaders,
        body: { ...TagsObjectSchema, examples: [TAGS_EXAMPLE] },
        response: { ...armWriteErrors, 200: withHeaders(PublicIpSchema, ETAG_HEADER, "The public IP address with its new tags") },
      },
    },
    async (request, reply) => {
      const row = await updatePublicIpTags(deps(), keyOf(request.params), request.body.tags ?? {}, etagCheck(request));
      setEtagHeader(reply, row.etag);
      return render(request)(row);
    },
  );

  app.get(
    PIP_COLLECTION,
    {
      config,
      schema: {
        operationId: "PublicIPAddresses_List",
        tags,
        summary: "List the public IP addresses of a resource group (paged with nextLink)",
        params: ResourceGroupParams,
        querystring: NetworkListQuery,
        response: { ...armErrors, 200: PublicIpListSchema },
      },
    },
    async (request) => {
      const { subscriptionId, resourceGroupName } = request.params;
      return listAnswer(request, await listPublicIps(deps(), pageRequestOf(request), subscriptionId, resourceGroupName), render(request));
    },
  );

  app.get(
    "/subscriptions/:subscriptionId/providers/Microsoft.Network/publicIPAddresses",
    {
      config,
      schema: {
        operationId: "PublicIPAddresses_ListAll",
        tags,
        summary: "List the public IP addresses of a subscription (paged with nextLink)",
        params: SubscriptionParams,
        querystring: NetworkListQuery,
        response: { ...armErrors, 200: PublicIpListSchema },
      },
    },
    async (request) => {
      return listAnswer(request, await listPublicIps(deps(), pageRequestOf(request), request.params.subscriptionId), render(request));
    },
  );
}
