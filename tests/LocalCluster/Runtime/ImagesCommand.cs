namespace LocalCluster.Runtime;

/// <summary>
/// <c>local-cluster images load --store DIR FILE...</c>: imports OCI image archives into the node's
/// image store (what <c>kind load image-archive</c> does for a kind node), printing each name it
/// brought; <c>local-cluster images list --store DIR</c>: the images in the store as <c>crictl images</c>
/// shows a node's (IMAGE, TAG, IMAGE ID: the config digest's first 13 hex digits, SIZE). Exit code 1 with the reason when an archive cannot be imported.
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
            // As crictl images shows a node's images: repository, tag, image id (config digest), size.
            var rows = new List<string[]> { new[] { "IMAGE", "TAG", "IMAGE ID", "SIZE" } };
            foreach (var (names, size, config) in store.List().OrderBy(i => i.Names.LastOrDefault(), StringComparer.Ordinal))
            {
                foreach (var tagged in names.Where(n => !n.Contains('@', StringComparison.Ordinal)))
                {
                    var name = ImageName.Parse(tagged);
                    rows.Add([name.Repository, name.Tag ?? "<none>", config.Length > 20 ? config["sha256:".Length..][..13] : config, HumanSize(size)]);
                }
            }
            var widths = Enumerable.Range(0, 4).Select(c => rows.Max(r => r[c].Length)).ToArray();
            foreach (var row in rows) Console.WriteLine(string.Join("   ", row.Select((cell, c) => c == 3 ? cell : cell.PadRight(widths[c]))));
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

    /// <summary>go-units' HumanSize, which crictl prints: decimal units, 4 significant digits (<c>75.31MB</c>).</summary>
    private static string HumanSize(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1000 && unit < units.Length - 1)
        {
            value /= 1000;
            unit++;
        }
        return value.ToString("G4", System.Globalization.CultureInfo.InvariantCulture) + units[unit];
    }
}
