using System.Globalization;
using System.Text;

namespace LocalCluster.Runtime;

/// <summary>
/// A container's log file in the CRI logging format, as containerd's CRI plugin writes it
/// (<c>pkg/cri/io/logger.go</c>, <c>redirectLogs</c>) and the kubelet reads it
/// (<c>pkg/kubelet/kuberuntime/logs/logs.go</c>, <c>parseCRILog</c>): one line per line of output,
/// <c>&lt;RFC3339Nano time&gt; &lt;stdout|stderr&gt; &lt;F|P&gt; &lt;content&gt;</c>, where <c>P</c> marks
/// a part of a line longer than 16 KiB (the rest follows, the last part with <c>F</c>).
/// The file is <c>&lt;state&gt;/pods/&lt;namespace&gt;_&lt;pod&gt;_&lt;uid&gt;/&lt;container&gt;/&lt;restartCount&gt;.log</c>,
/// the layout of the kubelet's /var/log/pods (<c>pkg/kubelet/kuberuntime/helpers.go</c>,
/// <c>BuildContainerLogsDirectory</c>, <c>buildContainerLogsPath</c>).
/// </summary>
internal sealed class CriLog : IAsyncDisposable
{
    /// <summary>containerd's maximum line length before a line is split into P parts.</summary>
    public const int MaxLineBytes = 16 * 1024;

    private readonly FileStream _file;
    private readonly Lock _lock = new();
    private readonly List<byte[]> _held = [];
    private bool _released;

    /// <summary>Opens (appends to) the log file at <paramref name="path"/>.</summary>
    public CriLog(string path)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The path of a container's log for one restart count.</summary>
    public static string PathFor(string podLogDirectory, string container, int restartCount) =>
        System.IO.Path.Combine(podLogDirectory, container, $"{restartCount.ToString(CultureInfo.InvariantCulture)}.log");

    /// <summary>The time format of the lines: Go's RFC3339Nano (trailing zeros of the fraction dropped) in UTC.</summary>
    public static string Timestamp(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Copies <paramref name="source"/> (a stream of the container) into the file, line by line, until
    /// it ends. Until <see cref="Release"/> is called, lines are held back: before runc has started
    /// the container's process, what arrives on runc's stderr is runc's own error, not the
    /// container's output; <see cref="Release"/> writes them once the start is known.
    /// </summary>
    public async Task PumpAsync(Stream source, string stream)
    {
        var buffer = new byte[8192];
        var line = new MemoryStream();
        int n;
        while ((n = await source.ReadAsync(buffer)) > 0)
        {
            var start = 0;
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                line.Write(buffer, start, i - start);
                Write(stream, 'F', line);
                start = i + 1;
            }
            line.Write(buffer, start, n - start);
            while (line.Length >= MaxLineBytes)
            {
                var all = line.ToArray();
                using var part = new MemoryStream(all, 0, MaxLineBytes);
                Write(stream, 'P', part);
                line.SetLength(0);
                line.Write(all, MaxLineBytes, all.Length - MaxLineBytes);
            }
        }
        if (line.Length > 0) Write(stream, 'F', line);
    }

    /// <summary>Writes the lines held back so far and every line from now on (the container has started).</summary>
    public void Release()
    {
        lock (_lock)
        {
            _released = true;
            foreach (var held in _held) _file.Write(held);
            _held.Clear();
            _file.Flush();
        }
    }

    private void Write(string stream, char tag, MemoryStream content)
    {
        var prefix = Encoding.ASCII.GetBytes($"{Timestamp(DateTime.UtcNow)} {stream} {tag} ");
        var entry = new byte[prefix.Length + content.Length + 1];
        prefix.CopyTo(entry, 0);
        Array.Copy(content.GetBuffer(), 0, entry, prefix.Length, content.Length);
        entry[^1] = (byte)'\n';
        content.SetLength(0);
        lock (_lock)
        {
            if (!_released)
            {
                _held.Add(entry);
                return;
            }
            foreach (var held in _held) _file.Write(held);
            _held.Clear();
            _file.Write(entry);
            _file.Flush();
        }
    }

    /// <summary>The last <paramref name="lines"/> lines' contents (for FallbackToLogsOnError), at most 4 KiB.</summary>
    public static string Tail(string path, int lines = 80)
    {
        if (!File.Exists(path)) return "";
        var content = File.ReadLines(path).TakeLast(lines).Select(l => l.Split(' ', 4) is { Length: 4 } f ? f[3] + (f[2] == "F" ? "\n" : "") : "");
        var text = string.Concat(content);
        return text.Length > 4096 ? text[^4096..] : text;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await _file.DisposeAsync();
}
