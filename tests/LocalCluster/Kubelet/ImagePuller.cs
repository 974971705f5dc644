using k8s.Models;
using LocalCluster.Runtime;

namespace LocalCluster.Kubelet;

/// <summary>
/// The kubelet's image manager for one container (<c>pkg/kubelet/images/image_manager.go</c>,
/// <c>EnsureImageExists</c>, <c>shouldPullImage</c>): <c>IfNotPresent</c> and <c>Never</c> use the
/// node's store; <c>Always</c>, or an image the store lacks, pulls from the image's registry, which
/// no node of the local cluster can reach, so the pull fails: <c>ErrImagePull</c>, then
/// <c>ImagePullBackOff</c> while the backoff (10 s doubling to 5 min, the kubelet's
/// <c>flowcontrol.NewBackOff(10s, 300s)</c>) runs, then another try. As on kind with an image loaded
/// by <c>kind load</c>: such an image is only usable with <c>IfNotPresent</c> or <c>Never</c>.
/// <c>Never</c> with the image absent is <c>ErrImageNeverPull</c>. An unset policy is defaulted as
/// the API server does (<c>Always</c> for <c>:latest</c> or no tag, else <c>IfNotPresent</c>).
/// </summary>
internal sealed class ImagePuller(PodWorker pod, V1Container spec)
{
    private static readonly TimeSpan InitialBackoff = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    /// <summary>How long ErrImagePull shows before the backoff reads ImagePullBackOff (the kubelet's next sync of the Pod).</summary>
    private static readonly TimeSpan ErrorShown = TimeSpan.FromSeconds(2);

    private TimeSpan _backoff = TimeSpan.Zero;
    private bool _announced;

    /// <summary>
    /// The container's image, present in the store; or null after waiting out a failure (the
    /// container's state shows why meanwhile, through <paramref name="set"/>).
    /// </summary>
    public async Task<ImageConfig?> EnsureAsync(Action<V1ContainerState> set, CancellationToken ct)
    {
        var image = spec.Image ?? "";
        if (ImageName.TryParse(image, out var parseError) is not { } name)
        {
            var message = $"Failed to apply default image tag \"{image}\": couldn't parse image name \"{image}\": {parseError}";
            set(ContainerRunner.Waiting("InvalidImageName", message));
            pod.Event("Warning", "InspectFailed", message, spec.Name);
            await ContainerRunner.Delay(TimeSpan.FromSeconds(30), ct);
            return null;
        }
        var policy = spec.ImagePullPolicy ?? (name.Tag is null or "latest" && name.Digest is null ? "Always" : "IfNotPresent");
        var present = await pod.Images.FindAsync(name, ct);

        if (present is not null && policy is "IfNotPresent" or "Never")
        {
            if (!_announced) pod.Event("Normal", "Pulled", $"Container image \"{image}\" already present on machine", spec.Name);
            _announced = true;
            _backoff = TimeSpan.Zero;
            return present;
        }
        if (policy == "Never")
        {
            var message = $"Container image \"{image}\" is not present with pull policy of Never";
            set(ContainerRunner.Waiting("ErrImageNeverPull", message));
            pod.Event("Warning", "ErrImageNeverPull", message, spec.Name);
            await ContainerRunner.Delay(InitialBackoff, ct);
            return null;
        }

        pod.Event("Normal", "Pulling", $"Pulling image \"{image}\"", spec.Name);
        var error = $"rpc error: code = Unknown desc = failed to pull and unpack image \"{name}\": failed to resolve reference \"{name}\": "
            + $"failed to do request: Head \"https://{(name.Domain == "docker.io" ? "registry-1.docker.io" : name.Domain)}/v2/{name.Path}/manifests/{name.Digest ?? name.Tag}\": "
            + "no registry can be reached from the local cluster's node"
            + (present is null ? " (load the image with hack/local-cluster.sh load FILE)" : $" (the image is in the node's store: imagePullPolicy {policy} pulls it anyway; IfNotPresent uses it)");
        set(ContainerRunner.Waiting("ErrImagePull", error));
        pod.Event("Warning", "Failed", $"Failed to pull image \"{image}\": {error}", spec.Name);
        pod.Event("Warning", "Failed", "Error: ErrImagePull", spec.Name);
        _backoff = _backoff == TimeSpan.Zero ? InitialBackoff : TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, MaxBackoff.Ticks));
        await ContainerRunner.Delay(ErrorShown, ct);
        if (ct.IsCancellationRequested) return null;
        set(ContainerRunner.Waiting("ImagePullBackOff", $"Back-off pulling image \"{image}\": ErrImagePull: {error}"));
        pod.Event("Normal", "BackOff", $"Back-off pulling image \"{image}\"", spec.Name);
        pod.Event("Warning", "Failed", "Error: ImagePullBackOff", spec.Name);
        await ContainerRunner.Delay(_backoff - ErrorShown, ct);
        return null;
    }
}
