#!/usr/bin/env bash
# Regenerates config/crd/ from the C# types in src/Operator/Entities.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run --project src/Operator -- crd > config/crd/userapi.example.com_userapis.yaml.tmp
mv config/crd/userapi.example.com_userapis.yaml.tmp config/crd/userapi.example.com_userapis.yaml
echo "wrote config/crd/userapi.example.com_userapis.yaml"
