using System.Collections.Concurrent;

namespace UserApiOperator.Controllers;

/// <summary>
/// The children whose applied configuration the API server records otherwise than it was applied,
/// and how. A server that defaults or mutates a field inside what was applied (a default within an
/// atomic list, a mutating admission webhook) makes the digest of the stored fields differ from the
/// digest of the desired object for ever; without this record every reconcile would apply again.
/// After an apply, the digest the server answered with is taken as the applied state of that desired
/// digest; a later change of either (a new desired state, or a hand edit) still shows. Usually empty:
/// the builders write what the server stores. Thread-safe.
/// </summary>
internal sealed class AppliedRecords
{
    private readonly ConcurrentDictionary<string, (UInt128 Desired, UInt128 Recorded)> _records = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether the child whose owned fields have digest <paramref name="recorded"/> holds what
    /// <paramref name="desired"/> would apply: the same digest, or the one the server answered with
    /// when that desired state was last applied.
    /// </summary>
    /// <param name="child">Kind and key of the child, e.g. <c>V1Deployment default/web</c>.</param>
    /// <param name="desired">Digest of the desired object.</param>
    /// <param name="recorded">Digest of the fields the operator owns in the live object; null when it owns none.</param>
    public bool IsApplied(string child, UInt128 desired, UInt128? recorded) =>
        recorded is { } digest
        && (digest == desired || (_records.TryGetValue(child, out var known) && known == (desired, digest)));

    /// <summary>Notes the answer to an apply of <paramref name="desired"/>; true when the server recorded it otherwise, for the first time in this form.</summary>
    public bool Applied(string child, UInt128 desired, UInt128? recorded)
    {
        if (recorded is not { } digest || digest == desired)
        {
            _records.TryRemove(child, out _);
            return false;
        }

        var record = (desired, digest);
        if (_records.TryGetValue(child, out var known) && known == record)
        {
            return false;
        }

        _records[child] = record;
        return true;
    }

    /// <summary>Forgets the children named <paramref name="name"/> in <paramref name="namespace"/> (their UserApi was deleted).</summary>
    public void Forget(string? @namespace, string name)
    {
        if (_records.IsEmpty)
        {
            return;
        }

        var workload = $" {@namespace}/{name}";
        var secret = $" {@namespace}/{name}-mysql";
        foreach (var child in _records.Keys)
        {
            if (child.EndsWith(workload, StringComparison.Ordinal) || child.EndsWith(secret, StringComparison.Ordinal))
            {
                _records.TryRemove(child, out _);
            }
        }
    }
}
