#!/usr/bin/env bash
# Regenerates config/crd/ from the C# types in src/Operator/Entities.
set -euo pipefail
cd "$(dirname "$0")/.."
# Build apart, so that nothing restore or the build prints (a warning about a package version the
# registry lacks, say) can end up in the generated file.
dotnet build src/Operator -v q -nologo >/dev/null
dotnet run --no-build --project src/Operator -- crd > config/crd/userapi.example.com_userapis.yaml.tmp
mv config/crd/userapi.example.com_userapis.yaml.tmp config/crd/userapi.example.com_userapis.yaml
echo "wrote config/crd/userapi.example.com_userapis.yaml"
