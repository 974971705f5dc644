using System.Text.Json.Nodes;

namespace LocalCluster.Runtime;

/// <summary>
/// The runtime's default seccomp profile (<c>seccompProfile: RuntimeDefault</c>) as an OCI runtime
/// config's <c>linux.seccomp</c>. The profile is the one containers-common ships
/// (<c>/usr/share/containers/seccomp.json</c>, Debian package golang-github-containers-common, the
/// profile Docker's and containerd's defaults derive from), which is in the containers format: its
/// entries carry <c>includes</c>/<c>excludes</c> by capability, architecture and minimum kernel that
/// must be resolved for one container before a runtime may use it. Resolved as containers/common
/// does it (<c>pkg/seccomp/seccomp_linux.go</c>, <c>setupSeccomp</c>; containerd's own
/// <c>contrib/seccomp/seccomp_default.go</c>, <c>DefaultProfile</c>, applies the same rules in code):
/// an entry applies when every capability it includes is in the container's bounding set, none it
/// excludes is, its architectures include this one (Go's name, <c>amd64</c>), and the kernel is
/// at least its <c>minKernel</c>.
/// </summary>
internal static class SeccompProfile
{
    /// <summary>Where containers-common puts the profile.</summary>
    public const string DefaultPath = "/usr/share/containers/seccomp.json";

    /// <summary>
    /// The resolved profile for a container whose bounding capabilities are <paramref name="bounding"/>
    /// (<c>CAP_*</c> names). Throws <see cref="FileNotFoundException"/> naming the package when the
    /// profile is missing.
    /// </summary>
    public static JsonObject Resolve(IReadOnlyCollection<string> bounding, string path = DefaultPath)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"the RuntimeDefault seccomp profile {path} is missing (Debian package golang-github-containers-common; hack/local-cluster.sh up installs it)", path);
        }
        var profile = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var arch = GoArch();
        var kernel = KernelVersion();
        var caps = new HashSet<string>(bounding, StringComparer.Ordinal);

        var result = new JsonObject
        {
            ["defaultAction"] = (string)profile["defaultAction"]!,
        };
        if (profile["defaultErrnoRet"] is { } defaultErrno) result["defaultErrnoRet"] = (int)defaultErrno;

        // archMap: the native architecture and its sub-architectures (x86_64 runs x86 and x32 code).
        var seccompArch = arch switch { "amd64" => "SCMP_ARCH_X86_64", "arm64" => "SCMP_ARCH_AARCH64", _ => "SCMP_ARCH_" + arch.ToUpperInvariant() };
        var architectures = new JsonArray();
        foreach (var entry in profile["archMap"]?.AsArray() ?? [])
        {
            if ((string?)entry!["architecture"] != seccompArch) continue;
            architectures.Add(seccompArch);
            foreach (var sub in entry["subArchitectures"]?.AsArray() ?? []) architectures.Add((string)sub!);
        }
        if (architectures.Count > 0) result["architectures"] = architectures;

        var syscalls = new JsonArray();
        foreach (var call in profile["syscalls"]?.AsArray() ?? [])
        {
            if (!Applies(call!, arch, kernel, caps)) continue;
            var rule = new JsonObject
            {
                ["names"] = call!["names"]!.DeepClone(),
                ["action"] = (string)call["action"]!,
            };
            if (call["errnoRet"] is { } errno) rule["errnoRet"] = (int)errno;
            if (call["args"] is JsonArray { Count: > 0 } args)
            {
                rule["args"] = new JsonArray([.. args.Select(a => (JsonNode)new JsonObject
                {
                    ["index"] = (int)a!["index"]!,
                    ["value"] = (ulong)a["value"]!,
                    ["valueTwo"] = (ulong?)a["valueTwo"] ?? 0,
                    ["op"] = (string)a["op"]!,
                })]);
            }
            syscalls.Add(rule);
        }
        result["syscalls"] = syscalls;
        return result;
    }

    private static bool Applies(JsonNode call, string arch, Version kernel, HashSet<string> caps)
    {
        var excludes = call["excludes"];
        if (excludes is not null)
        {
            if (Strings(excludes["arches"]).Contains(arch)) return false;
            if (Strings(excludes["caps"]).Any(caps.Contains)) return false;
            if ((string?)excludes["minKernel"] is { Length: > 0 } min && kernel >= ParseKernel(min)) return false;
        }
        var includes = call["includes"];
        if (includes is not null)
        {
            var arches = Strings(includes["arches"]);
            if (arches.Count > 0 && !arches.Contains(arch)) return false;
            if (Strings(includes["caps"]).Any(c => !caps.Contains(c))) return false;
            if ((string?)includes["minKernel"] is { Length: > 0 } min && kernel < ParseKernel(min)) return false;
        }
        return true;
    }

    private static List<string> Strings(JsonNode? node) => node is JsonArray a ? [.. a.Select(n => (string)n!)] : [];

    private static string GoArch() => System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.X86 => "x86",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        var other => other.ToString().ToLowerInvariant(),
    };

    private static Version KernelVersion() => ParseKernel(File.ReadAllText("/proc/sys/kernel/osrelease").Trim());

    private static Version ParseKernel(string text)
    {
        var parts = text.Split('.', '-', '+').Take(2).Select(p => int.TryParse(p, out var n) ? n : 0).ToArray();
        return new Version(parts.ElementAtOrDefault(0), parts.ElementAtOrDefault(1));
    }
}
