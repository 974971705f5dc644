using k8s;
using k8s.Models;
using UserApiOperator.Runtime.Watcher;

namespace UserApiOperator.Tests.Runtime;

public sealed class StringSharingTests
{
    [Fact]
    public void Equal_strings_of_two_decoded_Deployments_become_one_instance()
    {
        var pool = new StringSharing();
        var a = pool.Apply(Decode("a"));
        var b = pool.Apply(Decode("b"));

        Assert.Same(a.Spec.Template.Spec.Containers[0].Image, b.Spec.Template.Spec.Containers[0].Image);
        Assert.Same(a.Spec.Template.Spec.Containers[0].Env[0].Name, b.Spec.Template.Spec.Containers[0].Env[0].Name);
        Assert.Same(a.Spec.Template.Spec.Containers[0].Args[0], b.Spec.Template.Spec.Containers[0].Args[0]);
        var labelA = a.Metadata.Labels.Single(l => l.Key == "app.kubernetes.io/name");
        var labelB = b.Metadata.Labels.Single(l => l.Key == "app.kubernetes.io/name");
        Assert.Same(labelA.Key, labelB.Key);
        Assert.Same(labelA.Value, labelB.Value);
        // Nothing changes but identity.
        Assert.Equal(KubernetesJson.Serialize(Decode("a")), KubernetesJson.Serialize(a));
        Assert.Equal("a", a.Metadata.Name);
        Assert.Equal("250m", a.Spec.Template.Spec.Containers[0].Resources.Limits["cpu"].ToString());
    }

    [Fact]
    public void The_pool_stops_growing_at_its_capacity_and_skips_long_strings()
    {
        var pool = new StringSharing { Capacity = 10, MaxLength = 8 };
        for (var i = 0; i < 100; i++)
        {
            pool.Share($"name-{i}");
        }

        Assert.Equal(10, pool.Count);
        var first = pool.Share(new string("name-0".ToCharArray()));
        Assert.Same(first, pool.Share(new string("name-0".ToCharArray())));
        var unpooled = new string("name-99".ToCharArray());
        Assert.Same(unpooled, pool.Share(unpooled)); // Not in the pool, and no room for it.
        var longer = new string('x', 9);
        Assert.Same(longer, pool.Share(longer));
        Assert.Equal(10, pool.Count);
    }

    [Fact]
    public void Secret_values_are_not_touched()
    {
        var pool = new StringSharing();
        var secret = new V1Secret { Metadata = new V1ObjectMeta { Name = "s" }, Data = new Dictionary<string, byte[]> { ["MYSQL_PASSWORD"] = [1, 2, 3] } };
        pool.Apply(secret);
        Assert.Equal(new byte[] { 1, 2, 3 }, secret.Data["MYSQL_PASSWORD"]);
    }

    private static V1Deployment Decode(string name) => KubernetesJson.Deserialize<V1Deployment>("""
        {"apiVersion":"apps/v1","kind":"Deployment",
         "metadata":{"name":"NAME","namespace":"default","labels":{"app.kubernetes.io/name":"user-api","app.kubernetes.io/instance":"NAME"}},
         "spec":{"replicas":3,"selector":{"matchLabels":{"app.kubernetes.io/instance":"NAME"}},
          "template":{"metadata":{"labels":{"app.kubernetes.io/instance":"NAME"}},
           "spec":{"containers":[{"name":"api","image":"userapi:latest","args":["--urls","http://0.0.0.0:8000"],
             "env":[{"name":"MYSQL_HOST","value":"127.0.0.1"}],"resources":{"limits":{"cpu":"250m"}}}]}}}}
        """.Replace("NAME", name, StringComparison.Ordinal));
}
