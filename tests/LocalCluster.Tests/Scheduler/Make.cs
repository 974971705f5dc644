using k8s.Models;
using LocalCluster.Scheduler;

namespace LocalCluster.Tests.Scheduler;

/// <summary>Nodes and Pods for the scheduler tables, in the shape of kube-scheduler's own test wrappers (pkg/scheduler/testing/wrappers.go).</summary>
internal static class Make
{
    public static NodeBuilder Node(string name) => new(name);

    public static PodBuilder Pod(string name = "p", string ns = "default") => new(name, ns);

    public static ClusterSnapshot Cluster(IEnumerable<NodeBuilder> nodes, IEnumerable<PodBuilder>? pods = null) => new()
    {
        Nodes = [.. nodes.Select(n => n.Obj())],
        Pods = [.. (pods ?? []).Select(p => p.Obj())],
    };

    public static NodeInfo Info(NodeBuilder node, params PodBuilder[] pods) => new(node.Obj(), pods.Select(p => p.Obj()));
}

public sealed class NodeBuilder(string name)
{
    private readonly V1Node _node = new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string>() },
        Spec = new V1NodeSpec(),
        Status = new V1NodeStatus { Allocatable = new Dictionary<string, ResourceQuantity> { ["pods"] = new("110") } },
    };

    /// <summary>Capacity and allocatable, as st.MakeNode().Capacity does.</summary>
    public NodeBuilder Capacity(string cpu, string memory, string pods = "110")
    {
        _node.Status.Allocatable = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(cpu), ["memory"] = new(memory), ["pods"] = new(pods) };
        _node.Status.Capacity = new Dictionary<string, ResourceQuantity>(_node.Status.Allocatable);
        return this;
    }

    public NodeBuilder Label(string key, string value)
    {
        _node.Metadata.Labels[key] = value;
        return this;
    }

    public NodeBuilder Taint(string key, string value, string effect)
    {
        (_node.Spec.Taints ??= []).Add(new V1Taint { Key = key, Value = value, Effect = effect });
        return this;
    }

    public NodeBuilder Unschedulable()
    {
        _node.Spec.Unschedulable = true;
        return this;
    }

    public V1Node Obj() => _node;
}

public sealed class PodBuilder(string name, string ns)
{
    private static int _uid;

    private readonly V1Pod _pod = new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name, NamespaceProperty = ns, Labels = new Dictionary<string, string>(),
            Uid = $"uid-{Interlocked.Increment(ref _uid)}",
        },
        Spec = new V1PodSpec { Containers = [] },
        Status = new V1PodStatus { Phase = "Running" },
    };

    public PodBuilder Node(string node)
    {
        _pod.Spec.NodeName = node;
        return this;
    }

    public PodBuilder Label(string key, string value)
    {
        _pod.Metadata.Labels[key] = value;
        return this;
    }

    /// <summary>Adds a container with these requests (st.MakePod().Req).</summary>
    public PodBuilder Req(string? cpu = null, string? memory = null)
    {
        var requests = new Dictionary<string, ResourceQuantity>();
        if (cpu is not null) requests["cpu"] = new(cpu);
        if (memory is not null) requests["memory"] = new(memory);
        _pod.Spec.Containers.Add(new V1Container { Name = $"c{_pod.Spec.Containers.Count}", Resources = new V1ResourceRequirements { Requests = requests } });
        return this;
    }

    public PodBuilder Toleration(string key, string op, string? value, string? effect)
    {
        (_pod.Spec.Tolerations ??= []).Add(new V1Toleration { Key = key, OperatorProperty = op, Value = value, Effect = effect });
        return this;
    }

    public PodBuilder NodeSelector(string key, string value)
    {
        (_pod.Spec.NodeSelector ??= new Dictionary<string, string>())[key] = value;
        return this;
    }

    public PodBuilder RequiredAffinity(params V1NodeSelectorTerm[] terms)
    {
        Affinity().RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector { NodeSelectorTerms = terms };
        return this;
    }

    public PodBuilder PreferredAffinity(int weight, V1NodeSelectorTerm term)
    {
        (Affinity().PreferredDuringSchedulingIgnoredDuringExecution ??= []).Add(new V1PreferredSchedulingTerm { Weight = weight, Preference = term });
        return this;
    }

    public PodBuilder Spread(int maxSkew, string key, string when, V1LabelSelector? selector, int? minDomains = null)
    {
        (_pod.Spec.TopologySpreadConstraints ??= []).Add(new V1TopologySpreadConstraint
        {
            MaxSkew = maxSkew, TopologyKey = key, WhenUnsatisfiable = when, LabelSelector = selector, MinDomains = minDomains,
        });
        return this;
    }

    public PodBuilder Priority(int priority)
    {
        _pod.Spec.Priority = priority;
        return this;
    }

    public PodBuilder PreemptNever()
    {
        _pod.Spec.PreemptionPolicy = "Never";
        return this;
    }

    public PodBuilder Terminating()
    {
        _pod.Metadata.DeletionTimestamp = DateTime.UtcNow;
        return this;
    }

    public PodBuilder Phase(string phase)
    {
        _pod.Status.Phase = phase;
        return this;
    }

    public PodBuilder OwnedBy(string uid)
    {
        _pod.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = "rs", Uid = uid, Controller = true }];
        return this;
    }

    public V1Pod Obj() => _pod;

    private V1NodeAffinity Affinity()
    {
        _pod.Spec.Affinity ??= new V1Affinity();
        return _pod.Spec.Affinity.NodeAffinity ??= new V1NodeAffinity();
    }
}

internal static class Terms
{
    public static V1NodeSelectorTerm Expr(string key, string op, params string[] values) => new()
    {
        MatchExpressions = [new V1NodeSelectorRequirement { Key = key, OperatorProperty = op, Values = values.Length == 0 ? null : values }],
    };

    public static V1NodeSelectorTerm Field(string op, string value) => new()
    {
        MatchFields = [new V1NodeSelectorRequirement { Key = "metadata.name", OperatorProperty = op, Values = [value] }],
    };

    public static V1LabelSelector Exists(string key) => new()
    {
        MatchExpressions = [new V1LabelSelectorRequirement { Key = key, OperatorProperty = "Exists" }],
    };
}
