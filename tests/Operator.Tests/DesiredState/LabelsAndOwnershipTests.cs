using UserApiOperator.DesiredState;
using k8s.Models;
using UserApiOperator.Tests.Support;

namespace UserApiOperator.Tests.DesiredState;

public class LabelsAndOwnershipTests
{
    private static readonly Dictionary<string, string> ExpectedLabels = new()
    {
        ["app.kubernetes.io/name"] = "user-api",
        ["app.kubernetes.io/instance"] = "alpha",
        ["app.kubernetes.io/managed-by"] = "userapi-operator",
    };

    [Fact]
    public void Every_object_carries_the_three_labels_the_namespace_and_a_controller_owner_reference()
    {
        var objects = DesiredObjects.For(UserApis.FromSpec("autoscaling: {enabled: true}"), "pw").All().ToList();

        Assert.Equal(["Secret", "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"], objects.Select(o => o.Kind));
        foreach (var obj in objects)
        {
            Assert.Equal(ExpectedLabels, obj.Metadata.Labels);
            Assert.Equal("team-a", obj.Metadata.NamespaceProperty);
            var owner = Assert.Single(obj.Metadata.OwnerReferences!);
            Assert.Equal("userapi.example.com/v1alpha1", owner.ApiVersion);
            Assert.Equal("UserApi", owner.Kind);
            Assert.Equal("alpha", owner.Name);
            Assert.Equal(UserApis.Uid, owner.Uid);
            Assert.True(owner.Controller);
            Assert.True(owner.BlockOwnerDeletion);
        }
    }

    [Fact]
    public void Names_are_the_UserApi_name_and_name_dash_mysql_for_the_secret()
    {
        var desired = DesiredObjects.For(UserApis.FromSpec(), "pw");

        Assert.Equal("alpha-mysql", desired.Secret!.Metadata.Name);
        Assert.Equal("alpha", desired.Deployment.Metadata.Name);
        Assert.Equal("alpha", desired.Service.Metadata.Name);
        Assert.Equal("alpha", desired.Ingress!.Metadata.Name);
    }

    [Fact]
    public void Without_a_uid_there_is_no_owner_reference()
    {
        var objects = DesiredObjects.For(UserApis.FromSpec(uid: null), "pw").All();

        Assert.All(objects, o => Assert.Null(o.Metadata.OwnerReferences));
    }

    [Fact]
    public void Objects_carry_apiVersion_and_kind_of_their_resource()
    {
        var desired = DesiredObjects.For(UserApis.FromSpec(), "pw");

        Assert.Equal(("v1", "Secret"), (desired.Secret!.ApiVersion, desired.Secret.Kind));
        Assert.Equal(("apps/v1", "Deployment"), (desired.Deployment.ApiVersion, desired.Deployment.Kind));
        Assert.Equal(("v1", "Service"), (desired.Service.ApiVersion, desired.Service.Kind));
        Assert.Equal(("networking.k8s.io/v1", "Ingress"), (desired.Ingress!.ApiVersion, desired.Ingress.Kind));
        Assert.Equal("ingresses", System.Reflection.CustomAttributeExtensions.GetCustomAttribute<KubernetesEntityAttribute>(desired.Ingress.GetType())!.PluralName);
    }

    [Fact]
    public void Selector_string_lists_name_and_instance()
    {
        Assert.Equal("app.kubernetes.io/name=user-api,app.kubernetes.io/instance=alpha", UserApiLabels.SelectorString(UserApis.FromSpec()));
    }
}
