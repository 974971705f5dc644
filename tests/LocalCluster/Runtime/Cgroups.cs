namespace LocalCluster.Runtime;

/// <summary>
/// The cluster's cgroups on this machine's cgroup v1 hierarchies (/sys/fs/cgroup/&lt;controller&gt;):
/// every container runs in <c>/local-cluster/pod&lt;uid&gt;/&lt;container&gt;</c> of each, as a
/// kubelet with the cgroupfs driver nests containers under <c>kubepods/&lt;qos&gt;/pod&lt;uid&gt;</c>.
/// runc makes and removes a container's cgroups; a Pod's and the cluster's are removed here.
/// </summary>
internal static class Cgroups
{
    /// <summary>Where the v1 hierarchies are mounted.</summary>
    public const string Root = "/sys/fs/cgroup";

    /// <summary>
    /// Removes <paramref name="path"/> (e.g. <c>/local-cluster/pod&lt;uid&gt;</c>) and the cgroups below it
    /// in every hierarchy, the deepest first; returns those it could not remove (a process still in
    /// them).
    /// </summary>
    public static List<string> RemoveTree(string path)
    {
        var left = new List<string>();
        if (!Directory.Exists(Root)) return left;
        foreach (var hierarchy in Directory.GetDirectories(Root))
        {
            var top = Path.Combine(hierarchy, path.TrimStart('/'));
            if (!Directory.Exists(top)) continue;
            var dirs = Directory.GetDirectories(top, "*", SearchOption.AllDirectories).Append(top)
                .OrderByDescending(d => d.Count(c => c == '/'));
            foreach (var dir in dirs)
            {
                try
                {
                    Directory.Delete(dir); // rmdir: a cgroup's files are not real files
                }
                catch (IOException)
                {
                    left.Add(dir);
                }
                catch (UnauthorizedAccessException)
                {
                    left.Add(dir);
                }
            }
        }
        return left;
    }
}
