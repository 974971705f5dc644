namespace LocalCluster.Runtime;

/// <summary>
/// <c>local-cluster images load --store DIR FILE...</c>: imports OCI image archives into the node's
/// image store (what <c>kind load image-archive</c> does for a kind node), printing each name it
/// brought; <c>local-cluster images list --store DIR</c>: the names in the store with their manifest
/// digests. Exit code 1 with the reason when an archive cannot be imported.
/// </summary>
internal static class ImagesCommand
{
    private const string Usage = "usage: local-cluster images load --store DIR FILE... | local-cluster images list --store DIR";

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        if (args.Count < 3 || args[1] != "--store" || (args[0] == "load" && args.Count < 4) || args[0] is not ("load" or "list"))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        var store = new ImageStore(args[2]);
        if (args[0] == "list")
        {
            foreach (var (name, digest) in store.Names().OrderBy(n => n.Key, StringComparer.Ordinal)) Console.WriteLine($"{name}\t{digest}");
            return 0;
        }
        foreach (var file in args.Skip(3))
        {
            try
            {
                var started = DateTime.UtcNow;
                foreach (var (name, digest) in await store.LoadAsync(file))
                {
                    Console.WriteLine($"loaded {name} ({digest[..19]}) from {file} in {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
                }
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
            {
                Console.Error.WriteLine($"images: {e.Message}");
                return 1;
            }
        }
        return 0;
    }
}
