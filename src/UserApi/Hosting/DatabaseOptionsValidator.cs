using Microsoft.Extensions.Options;
using UserApiService.Data;

namespace UserApiService.Hosting;

/// <summary>Rejects invalid <see cref="DatabaseOptions"/> at start-up, naming each bad setting.</summary>
internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        var problems = options.Validate();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
