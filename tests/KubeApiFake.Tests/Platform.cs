// The kubelet-server tests use the local cluster's runtime (runc, ptys), which is Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
