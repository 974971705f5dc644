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
    public void A_full_pool_starts_afresh_and_keeps_sharing_what_repeats_and_skips_long_strings()
    {
        var pool = new StringSharing { Capacity = 10, MaxLength = 8 };
        for (var i = 0; i < 100; i++)
        {
            pool.Share($"name-{i}");
        }

        Assert.InRange(pool.Count, 1, 10);
        Assert.Equal(9, pool.Resets);
        // A string first seen after the pool filled is still shared.
        var late = pool.Share(new string("late".ToCharArray()));
        Assert.Same(late, pool.Share(new string("late".ToCharArray())));
        var longer = new string('x', 9);
        Assert.Same(longer, pool.Share(longer));
        Assert.InRange(pool.Count, 1, 10);
    }

    [Fact]
    public void Uids_resource_versions_and_condition_messages_are_not_pooled()
    {
        var pool = new StringSharing();
        for (var i = 0; i < 1_000; i++)
        {
            var deployment = Decode("same");
            deployment.Metadata.Uid = Guid.NewGuid().ToString();
            deployment.Metadata.ResourceVersion = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            deployment.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "userapi.example.com/v1alpha1", Kind = "UserApi", Name = "same", Uid = Guid.NewGuid().ToString(), Controller = true }];
            deployment.Status = new V1DeploymentStatus { Conditions = [new V1DeploymentCondition { Status = "True", Type = "Progressing", Message = $"ReplicaSet \"same-{i}\" has successfully progressed." }] };
            pool.Apply(deployment);
        }

        // The strings one Deployment of that shape repeats, not a thousand of each unique one.
        Assert.InRange(pool.Count, 1, 40);
        Assert.Equal(0, pool.Resets);
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
