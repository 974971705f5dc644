using System.Globalization;
using System.Text;

namespace LocalCluster.KubeletServer;

/// <summary>The options of one log read (PodLogOptions as the kubelet turns them into pkg/kubelet/kuberuntime/logs/logs.go <c>LogOptions</c>).</summary>
/// <param name="Tail">Lines from the end to start at; negative for all.</param>
/// <param name="Since">Entries older than this are skipped; <see cref="DateTimeOffset.MinValue"/> for none.</param>
/// <param name="LimitBytes">Stop after this many bytes; negative for no limit.</param>
/// <param name="Follow">Keep reading what is appended while the container runs.</param>
/// <param name="Timestamps">Prefix every line with its RFC 3339 timestamp (nanoseconds).</param>
public sealed record ContainerLogOptions(long Tail, DateTimeOffset Since, long LimitBytes, bool Follow, bool Timestamps)
{
    /// <summary>Where to start reading (a byte offset at a line's start) instead of <see cref="Tail"/>; negative for none.</summary>
    public long StartOffset { get; init; } = -1;

    /// <summary>
    /// From the API's options at <paramref name="now"/> (logs.go <c>NewLogOptions</c>): sinceSeconds
    /// counts back from now, and a later sinceTime wins.
    /// </summary>
    public static ContainerLogOptions From(long? tailLines, long? sinceSeconds, DateTimeOffset? sinceTime, long? limitBytes, bool follow, bool timestamps, DateTimeOffset now)
    {
        var since = DateTimeOffset.MinValue;
        if (sinceSeconds is { } seconds) since = now.AddSeconds(-seconds);
        if (sinceTime is { } time && time > since) since = time;
        return new ContainerLogOptions(tailLines ?? -1, since, limitBytes ?? -1, follow, timestamps);
    }
}

/// <summary>
/// Reads a container log file in the CRI format (<c>&lt;RFC3339Nano&gt; stdout|stderr F|P &lt;text&gt;</c>,
/// one entry per line, P for a partial line continued by the next entry) as the kubelet does
/// (pkg/kubelet/kuberuntime/logs/logs.go, <c>ReadLogs</c>, <c>parseCRILog</c>,
/// <c>findTailLineStartIndex</c>, <c>logWriter.write</c>): tail counts lines from the end of the
/// file, since skips older entries, timestamps prefix each new line (not the continuations of a
/// partial one), limitBytes cuts the output, and follow waits for more at the end of the file, on
/// the file changing or at least every second, until the container no longer runs; a file
/// replaced (rotated) is reopened. Both streams go to one output, as in the kubelet's server, or
/// each to its own (for attach).
/// </summary>
public static class ContainerLogReader
{
    /// <summary>How often a follow re-reads without a change event (logs.go <c>logForceCheckPeriod</c>).</summary>
    public static readonly TimeSpan ForceCheckPeriod = TimeSpan.FromSeconds(1);

    private const int BlockSize = 4096;

    /// <summary>
    /// Writes the entries of <paramref name="path"/> to <paramref name="output"/> (flushed after each
    /// batch), those of stderr to <paramref name="errorOutput"/> when one is given.
    /// <paramref name="isRunning"/> is asked when following reaches the end of the file.
    /// </summary>
    /// <exception cref="IOException">The file cannot be opened (<c>failed to open log file</c>).</exception>
    public static async Task ReadAsync(string path, ContainerLogOptions options, Func<CancellationToken, Task<bool>> isRunning, Stream output,
        CancellationToken cancellationToken, Stream? errorOutput = null)
    {
        FileStream file;
        try
        {
            file = Open(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"failed to open log file \"{path}\": {e.Message}", e);
        }

        FileSystemWatcher? watcher = null;
        using var changed = new SemaphoreSlim(0);
        try
        {
            file.Seek(options.StartOffset >= 0 ? options.StartOffset : FindTailStart(file, options.Tail), SeekOrigin.Begin);
            var limited = options.Tail >= 0 && !options.Follow;
            var remainingLines = options.Tail;
            var remainingBytes = options.LimitBytes < 0 ? long.MaxValue : options.LimitBytes;
            var isNewLine = true;
            var running = true;
            var pending = new List<byte>();
            var buffer = new byte[64 * 1024];
            var batch = new Batches(output, errorOutput);
            while (true)
            {
                if (limited && remainingLines == 0) break;
                var read = await file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read > 0)
                {
                    var start = 0;
                    for (var i = 0; i < read; i++)
                    {
                        if (buffer[i] != (byte)'\n') continue;
                        pending.AddRange(buffer.AsSpan(start, i - start + 1));
                        start = i + 1;
                        if (limited && remainingLines == 0) continue;
                        if (Parse(pending, out var entry))
                        {
                            if (!Write(entry, options, isNewLine, batch, ref remainingBytes))
                            {
                                await batch.FlushAsync(cancellationToken).ConfigureAwait(false);
                                return;
                            }
                            if (limited) remainingLines--;
                            isNewLine = entry.Text.Length == 0 || entry.Text[^1] == (byte)'\n';
                        }
                        pending.Clear();
                    }
                    pending.AddRange(buffer.AsSpan(start, read - start));
                    await batch.FlushAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                // End of file.
                if (!options.Follow)
                {
                    // An incomplete last line is written as it is, then the read ends.
                    if (pending.Count > 0 && (!limited || remainingLines != 0) && Parse(pending, out var last))
                    {
                        Write(last, options, isNewLine, batch, ref remainingBytes);
                    }
                    await batch.FlushAsync(cancellationToken).ConfigureAwait(false);
                    return;
                }
                if (!running) return;
                if (watcher is null)
                {
                    watcher = Watch(path, changed);
                    continue; // an event may have been missed before the watch began
                }

                // waitLogs: not running, or a change, or the periodic re-read.
                running = await isRunning(cancellationToken).ConfigureAwait(false);
                if (!running) continue; // read what came last, then stop at the next end of file
                var signalled = await changed.WaitAsync(ForceCheckPeriod, cancellationToken).ConfigureAwait(false);
                if (signalled && Replaced(file, path))
                {
                    var reopened = TryOpen(path);
                    if (reopened is not null)
                    {
                        await file.DisposeAsync().ConfigureAwait(false);
                        file = reopened;
                        pending.Clear();
                    }
                }
            }
        }
        finally
        {
            watcher?.Dispose();
            await file.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static FileStream Open(string path) =>
        new(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.ReadWrite | FileShare.Delete,
            Options = FileOptions.Asynchronous,
        });

    private static FileStream? TryOpen(string path)
    {
        try
        {
            return Open(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// True when <paramref name="path"/> was replaced by a shorter file than the one open (a rotation:
    /// the runtime renames the log and starts a new one), so the reader must reopen it.
    /// </summary>
    private static bool Replaced(FileStream file, string path)
    {
        try
        {
            return File.Exists(path) && new FileInfo(path).Length < file.Position;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static FileSystemWatcher Watch(string path, SemaphoreSlim changed)
    {
        var watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName | NotifyFilters.CreationTime,
        };
        void Pulse(object? sender, EventArgs e)
        {
            if (changed.CurrentCount == 0) changed.Release();
        }
        watcher.Changed += Pulse;
        watcher.Created += Pulse;
        watcher.Deleted += Pulse;
        watcher.Renamed += Pulse;
        watcher.EnableRaisingEvents = true;
        return watcher;
    }

    /// <summary>What is to be written next, per output (one for both streams when there is no error output).</summary>
    private sealed class Batches(Stream output, Stream? errorOutput)
    {
        private readonly MemoryStream _out = new();
        private readonly MemoryStream? _err = errorOutput is null ? null : new MemoryStream();

        public MemoryStream For(bool stderr) => stderr && _err is not null ? _err : _out;

        public async Task FlushAsync(CancellationToken cancellationToken)
        {
            await FlushAsync(_out, output, cancellationToken).ConfigureAwait(false);
            if (_err is not null) await FlushAsync(_err, errorOutput!, cancellationToken).ConfigureAwait(false);
        }

        private static async Task FlushAsync(MemoryStream batch, Stream to, CancellationToken cancellationToken)
        {
            if (batch.Length == 0) return;
            await to.WriteAsync(batch.GetBuffer().AsMemory(0, (int)batch.Length), cancellationToken).ConfigureAwait(false);
            await to.FlushAsync(cancellationToken).ConfigureAwait(false);
            batch.SetLength(0);
        }
    }

    /// <summary>One parsed entry: when (to 100 ns, for since), the time as the kubelet prints it, and its text (with its newline for a full line, without for a partial one).</summary>
    private readonly record struct Entry(DateTimeOffset Time, string Stamp, bool Stderr, byte[] Text);

    /// <summary>logs.go <c>parseCRILog</c>; false for a line that is not a CRI entry (skipped, as the kubelet logs and skips it).</summary>
    private static bool Parse(List<byte> line, out Entry entry)
    {
        entry = default;
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(line);
        var first = span.IndexOf((byte)' ');
        if (first < 0) return false;
        var stamp = Encoding.ASCII.GetString(span[..first]);
        if (!DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)) return false;
        var rest = span[(first + 1)..];
        var second = rest.IndexOf((byte)' ');
        if (second < 0) return false;
        var stream = rest[..second];
        if (!stream.SequenceEqual("stdout"u8) && !stream.SequenceEqual("stderr"u8)) return false;
        rest = rest[(second + 1)..];
        var third = rest.IndexOf((byte)' ');
        if (third < 0) return false;
        var tags = rest[..third];
        var tagEnd = tags.IndexOf((byte)':');
        var partial = (tagEnd < 0 ? tags : tags[..tagEnd]).SequenceEqual("P"u8);
        var text = rest[(third + 1)..];
        if (partial && text.Length > 0 && text[^1] == (byte)'\n') text = text[..^1];
        entry = new Entry(time, CanonicalStamp(stamp), stream.SequenceEqual("stderr"u8), text.ToArray());
        return true;
    }

    /// <summary>logs.go <c>logWriter.write</c>: false once the byte limit is reached.</summary>
    private static bool Write(Entry entry, ContainerLogOptions options, bool addPrefix, Batches batches, ref long remaining)
    {
        var output = batches.For(entry.Stderr);
        if (entry.Time < options.Since) return true;
        ReadOnlySpan<byte> text = entry.Text;
        byte[]? line = null;
        if (options.Timestamps && addPrefix)
        {
            line = [.. Encoding.ASCII.GetBytes(entry.Stamp + " "), .. entry.Text];
            text = line;
        }
        if (text.Length > remaining) text = text[..(int)remaining];
        output.Write(text);
        remaining -= text.Length;
        return remaining > 0;
    }

    /// <summary>
    /// A log entry's time as Go's <c>time.Format(RFC3339Nano)</c> prints the time <c>time.Parse</c> read
    /// (all nine digits kept, trailing zeros of the fraction dropped, no fraction when it is zero, the
    /// offset as written, Z for a zero offset).
    /// </summary>
    private static string CanonicalStamp(string stamp)
    {
        var t = stamp.IndexOf('T', StringComparison.Ordinal);
        var zone = stamp.IndexOfAny(['Z', '+', '-'], Math.Max(t, 0));
        if (t < 0 || zone < 0) return stamp;
        var clock = stamp[..zone];
        var offset = stamp[zone..];
        if (offset is "+00:00" or "-00:00") offset = "Z";
        var dot = clock.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            var fraction = clock[(dot + 1)..].TrimEnd('0');
            clock = fraction.Length == 0 ? clock[..dot] : clock[..(dot + 1)] + fraction;
        }
        return clock + offset;
    }

    /// <summary>Go's RFC3339Nano of a UTC time: trailing zeros of the fraction dropped, no fraction when it is zero, Z for UTC.</summary>
    public static string FormatTimestamp(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        var text = utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var ticks = utc.Ticks % TimeSpan.TicksPerSecond;
        if (ticks != 0) text += "." + (ticks * 100).ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0');
        return text + "Z";
    }

    /// <summary>Where the file's last complete line ends now (the offset a read of what comes next starts at).</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static long EndOfLastLine(string path)
    {
        using var file = Open(path);
        return FindTailStart(file, 0);
    }

    /// <summary>
    /// logs.go <c>findTailLineStartIndex</c>: the offset of the n-th line from the end (an incomplete
    /// last line does not count); 0 for a negative n.
    /// </summary>
    private static long FindTailStart(FileStream file, long n)
    {
        if (n < 0) return 0;
        var size = file.Seek(0, SeekOrigin.End);
        long left = 0;
        long count = 0;
        var block = new byte[BlockSize];
        var used = 0;
        for (var right = size; right > 0 && count <= n; right -= BlockSize)
        {
            left = Math.Max(0, right - BlockSize);
            used = (int)(right - left);
            file.Seek(left, SeekOrigin.Begin);
            file.ReadExactly(block, 0, used);
            count += block.AsSpan(0, used).Count((byte)'\n');
        }
        var offset = 0;
        for (; count > n; count--)
        {
            offset += block.AsSpan(offset, used - offset).IndexOf((byte)'\n') + 1;
        }
        return left + offset;
    }
}
