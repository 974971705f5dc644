#!/usr/bin/env bash
# Regenerates config/rbac/role.yaml and config/rbac/leader_election_role.yaml from the [EntityRbac]
# declarations in src/Operator.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Operator -v q -nologo >/dev/null
dotnet run --no-build --project src/Operator -- rbac > config/rbac/role.yaml.tmp
dotnet run --no-build --project src/Operator -- rbac --leader-election > config/rbac/leader_election_role.yaml.tmp
mv config/rbac/role.yaml.tmp config/rbac/role.yaml
mv config/rbac/leader_election_role.yaml.tmp config/rbac/leader_election_role.yaml
echo "wrote config/rbac/role.yaml and config/rbac/leader_election_role.yaml"
