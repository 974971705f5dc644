namespace UserApiOperator.Controllers;

/// <summary>
/// Why a UserApi cannot reach its desired state without a change by the user; becomes the
/// <c>Degraded=True</c> condition and a Warning Event with the same reason.
/// </summary>
/// <param name="Reason">CamelCase reason: <c>InvalidSpec</c>, <c>SecretNotFound</c>, <c>OwnershipConflict</c>, <c>RolloutFailed</c>.</param>
/// <param name="Message">One human-readable sentence naming the field or object at fault.</param>
public sealed record Problem(string Reason, string Message)
{
    /// <summary>The spec breaks the schema's rules.</summary>
    public const string InvalidSpec = "InvalidSpec";

    /// <summary><c>spec.database.passwordSecretRef</c> names a Secret or key that does not exist.</summary>
    public const string SecretNotFound = "SecretNotFound";

    /// <summary>An object the UserApi would own exists and is controlled by something else.</summary>
    public const string OwnershipConflict = "OwnershipConflict";

    /// <summary>The Deployment reports a failed rollout (progress deadline exceeded, replica failure).</summary>
    public const string RolloutFailed = "RolloutFailed";
}
