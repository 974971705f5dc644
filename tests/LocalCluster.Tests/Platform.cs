// The local cluster is Linux only (network namespaces, runc, cgroups), and so are its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
