using System.Net;

namespace KubeApiFake.Tests;

/// <summary>A small CRD for the widgets.example.com group, as tests apply it.</summary>
internal static class Widgets
{
    public const string Collection = "/apis/example.com/v1/namespaces/default/widgets";

    public const string Crd = """
        {
          "apiVersion": "apiextensions.k8s.io/v1",
          "kind": "CustomResourceDefinition",
          "metadata": { "name": "widgets.example.com" },
          "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": { "plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList", "shortNames": ["wd"] },
            "versions": [{
              "name": "v1", "served": true, "storage": true,
              "subresources": { "status": {} },
              "schema": { "openAPIV3Schema": {
                "type": "object",
                "properties": {
                  "spec": {
                    "type": "object",
                    "default": {},
                    "properties": {
                      "replicas": { "type": "integer", "minimum": 0, "maximum": 100, "default": 3 },
                      "size": { "type": "string", "enum": ["small", "large"], "default": "small" },
                      "color": { "type": "string", "pattern": "^[a-z]+$" },
                      "ports": { "type": "array", "items": { "type": "object",
                        "properties": { "name": { "type": "string" }, "port": { "type": "integer", "default": 80 } } } }
                    }
                  },
                  "status": {
                    "type": "object",
                    "properties": { "ready": { "type": "boolean" }, "observedGeneration": { "type": "integer" } }
                  }
                }
              } }
            }]
          }
        }
        """;

    public static async Task InstallAsync(HttpClient http)
    {
        var (code, body) = await http.PostJsonAsync("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", KubeHttp.Parse(Crd));
        Assert.True(code == HttpStatusCode.Created, body.ToJsonString());
    }

    public static string Widget(string name, string spec = "{}") =>
        $$"""{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"{{name}}"},"spec":{{spec}}}""";
}
