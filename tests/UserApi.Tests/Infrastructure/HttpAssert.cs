using System.Net;
using System.Text;

namespace UserApiService.Tests.Infrastructure;

/// <summary>Helpers that read a whole response and check its status, media type and exact body.</summary>
public static class HttpAssert
{
    /// <summary>Reads the body as UTF-8 text after checking status and JSON media type.</summary>
    public static async Task<string> JsonBodyAsync(HttpResponseMessage response, HttpStatusCode expectedStatus)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expectedStatus == response.StatusCode, $"expected {(int)expectedStatus}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        return body;
    }

    /// <summary>Checks status, JSON media type and that the body is byte for byte <paramref name="expectedBody"/> in UTF-8.</summary>
    public static async Task ExactJsonAsync(HttpResponseMessage response, HttpStatusCode expectedStatus, string expectedBody)
    {
        var body = await JsonBodyAsync(response, expectedStatus);
        Assert.Equal(expectedBody, body);
        Assert.Equal(Encoding.UTF8.GetBytes(expectedBody), await response.Content.ReadAsByteArrayAsync());
    }
}
