// The local cluster is Linux only (network namespaces, runc, cgroups, overlayfs): the platform
// analyser may take File.SetUnixFileMode and friends as available.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
