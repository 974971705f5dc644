namespace KubeApiFake;

/// <summary>Names a served resource: API group ("" for core), version and plural resource name.</summary>
/// <param name="Group">API group; empty for the core group (<c>/api/v1</c>).</param>
/// <param name="Version">API version, e.g. <c>v1</c>.</param>
/// <param name="Resource">Plural resource name, e.g. <c>deployments</c>.</param>
public readonly record struct GroupVersionResource(string Group, string Version, string Resource)
{
    /// <summary>The <c>apiVersion</c> string of objects of this resource (<c>v1</c> or <c>group/version</c>).</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <inheritdoc />
    public override string ToString() => Group.Length == 0 ? $"{Resource}/{Version}" : $"{Resource}.{Version}.{Group}";
}
