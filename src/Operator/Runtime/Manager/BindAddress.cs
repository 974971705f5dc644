using System.Globalization;
using System.Net;

namespace UserApiOperator.Runtime.Manager;

/// <summary>
/// Parses bind addresses as controller-runtime's flags take them: <c>:8081</c> (every interface),
/// <c>127.0.0.1:8081</c>, <c>[::1]:8081</c>, or <c>0</c> to turn the server off.
/// </summary>
public static class BindAddress
{
    /// <summary>Parses <paramref name="text"/>; <paramref name="endpoint"/> is null for <c>0</c> (disabled).</summary>
    /// <returns>False when the text is not a bind address.</returns>
    public static bool TryParse(string text, out IPEndPoint? endpoint)
    {
        endpoint = null;
        if (text == "0")
        {
            return true;
        }

        var colon = text.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return false;
        }

        var host = text[..colon].Trim('[', ']');
        if (host.Length == 0)
        {
            endpoint = new IPEndPoint(IPAddress.Any, port);
            return true;
        }

        if (host == "localhost")
        {
            endpoint = new IPEndPoint(IPAddress.Loopback, port);
            return true;
        }

        if (IPAddress.TryParse(host, out var address))
        {
            endpoint = new IPEndPoint(address, port);
            return true;
        }

        return false;
    }
}
