"""The seed's Rule type #1 load balancer through the UNMODIFIED Azure SDK for Python (Debian's
python3-azure: azure-mgmt-resource 22, azure-mgmt-network 23), as an operator's script would run it.
Only configuration differs from talking to Azure: the endpoint (base_url), a token credential
holding lbplane's token, the credential scope, and the TLS trust anchor (connection_verify). Each
client sends its own default api-version (resources 2022-09-01, network 2022-07-01); a request
hook records them so the test can show which versions lbplane answered.

Usage: python3 python_seed.py <endpoint> <subscription> <token> <ca-file>
Prints one JSON object with what the SDK read back; exits non-zero on any SDK error.
"""
import json
import sys
import time
from urllib.parse import parse_qs, urlparse

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource import ResourceManagementClient

endpoint, subscription, token, ca_file = sys.argv[1:5]
RG, LB = "py-sdk-rg", "lb-rule-type-1"
lb_id = f"/subscriptions/{subscription}/resourceGroups/{RG}/providers/Microsoft.Network/loadBalancers/{LB}"
pip_id = lambda name: f"/subscriptions/{subscription}/resourceGroups/{RG}/providers/Microsoft.Network/publicIPAddresses/{name}"


class StaticToken:
    """A TokenCredential: the shape azure-identity's credentials have."""

    def get_token(self, *scopes, **kwargs):
        return AccessToken(token, int(time.time()) + 3600)


api_versions = {}


def record_api_version(request):
    url = urlparse(request.http_request.url)
    family = "resources" if "/providers/" not in url.path else "network"
    for version in parse_qs(url.query).get("api-version", []):
        api_versions.setdefault(family, set()).add(version)


config = dict(
    base_url=endpoint,
    credential_scopes=[f"{endpoint}/.default"],
    connection_verify=ca_file,
    polling_interval=0.05,
    raw_request_hook=record_api_version,
    retry_total=0,
)
resources = ResourceManagementClient(StaticToken(), subscription, **config)
network = NetworkManagementClient(StaticToken(), subscription, **config)
out = {}

rg = resources.resource_groups.create_or_update(RG, {"location": "westeurope", "tags": {"seed": "multiple-vips"}})
out["resourceGroup"] = {"name": rg.name, "provisioningState": rg.properties.provisioning_state}
out["groupExists"] = resources.resource_groups.check_existence(RG)

for name, ip in (("vip1", "65.52.0.11"), ("vip2", "65.52.0.12")):
    pip = network.public_ip_addresses.begin_create_or_update(
        RG, name, {"location": "westeurope", "sku": {"name": "Standard"}, "public_ip_allocation_method": "Static", "ip_address": ip}
    ).result()
    out.setdefault("publicIps", []).append([pip.name, pip.ip_address, pip.sku.name, pip.provisioning_state])

rule = lambda name, fe, backend_port: {
    "name": name,
    "frontend_ip_configuration": {"id": f"{lb_id}/frontendIPConfigurations/{fe}"},
    "backend_address_pool": {"id": f"{lb_id}/backendAddressPools/pool"},
    "probe": {"id": f"{lb_id}/probes/probe"},
    "protocol": "Tcp",
    "frontend_port": 80,
    "backend_port": backend_port,
}
lb_body = lambda rules: {
    "location": "westeurope",
    "sku": {"name": "Standard"},
    "frontend_ip_configurations": [
        {"name": "frontend1", "public_ip_address": {"id": pip_id("vip1")}},
        {"name": "frontend2", "public_ip_address": {"id": pip_id("vip2")}},
    ],
    "backend_address_pools": [
        {"name": "pool", "load_balancer_backend_addresses": [{"name": "dip1", "ip_address": "10.0.0.4"}]}
    ],
    "probes": [{"name": "probe", "protocol": "Tcp", "port": 80, "interval_in_seconds": 5, "probe_threshold": 2}],
    "load_balancing_rules": rules,
}
seed_rules = [rule("rule1", "frontend1", 80), rule("rule2", "frontend2", 81)]
lb = network.load_balancers.begin_create_or_update(RG, LB, lb_body(seed_rules)).result()
out["loadBalancer"] = {"id": lb.id, "provisioningState": lb.provisioning_state, "etag": lb.etag}

got = network.load_balancers.get(RG, LB)
out["rules"] = [[r.name, r.frontend_port, r.backend_port, r.enable_floating_ip] for r in got.load_balancing_rules]
probe = network.load_balancer_probes.get(RG, LB, "probe")
out["probe"] = {"port": probe.port, "probeThreshold": probe.probe_threshold, "rules": sorted(r.id for r in probe.load_balancing_rules)}
out["pool"] = [a.ip_address for a in network.load_balancer_backend_address_pools.get(RG, LB, "pool").load_balancer_backend_addresses]
out["frontends"] = [f.name for f in network.load_balancer_frontend_ip_configurations.list(RG, LB)]

# The uniqueness law through the SDK: VIP1:80 → DIP:81 collides with rule2's VIP2:80 → DIP:81.
conflicting = dict(rule("rule3", "frontend1", 81), frontend_port=8080)
try:
    network.load_balancers.begin_create_or_update(RG, LB, lb_body(seed_rules + [conflicting])).result()
    out["conflict"] = None
except HttpResponseError as err:
    out["conflict"] = {"status": err.status_code, "code": err.error.code if err.error else None}

network.load_balancers.begin_delete(RG, LB).result()
try:
    network.load_balancers.get(RG, LB)
    out["deleted"] = False
except ResourceNotFoundError:
    out["deleted"] = True
for name in ("vip1", "vip2"):
    network.public_ip_addresses.begin_delete(RG, name).result()
resources.resource_groups.begin_delete(RG).result()
out["groupExistsAfterDelete"] = resources.resource_groups.check_existence(RG)
out["apiVersions"] = {family: sorted(versions) for family, versions in api_versions.items()}
print(json.dumps(out))
