@echo off
rem The Windows lines of Octopus's "How to regenerate certificates with
rem Octopus Server and Tentacle", as written, each followed by a health
rem check. Paths with a space are quoted, as cmd needs. Every command's
rem failure ends the script ("if errorlevel 1": wine 8.0's cmd runs the
rem right side of "||" even after a success). Set up by setup.bat.
setlocal
mkdir C:\PathToCertificate
"C:\Program Files\Octopus Deploy\Octopus\Octopus.Server.exe" show-thumbprint --instance OctopusServer --export-file="%TEMP%\old.txt" >nul
if errorlevel 1 exit /b 1
set /p OLD=<"%TEMP%\old.txt"

echo == Backup the existing certificate
cd /d "C:\Program Files\Octopus Deploy\Octopus"
Octopus.Server.exe export-certificate --instance OctopusServer --export-pfx="C:\PathToCertificate\oldcert.pfx" --pfx-password MySecretPassword
if errorlevel 1 exit /b 1
Octopus.Server.exe health-check --instance OctopusServer
if errorlevel 1 exit /b 1

echo == Generate a new certificate
Octopus.Server.exe new-certificate --instance OctopusServer --export-pfx="C:\PathToCertificate\newcert.pfx" --pfx-password MySecretPassword > "%TEMP%\new.txt"
if errorlevel 1 exit /b 1
type "%TEMP%\new.txt"
rem The new thumbprint is the line after "A new certificate has been generated with thumbprint:".
for /f "usebackq skip=5 delims=" %%t in ("%TEMP%\new.txt") do if not defined NEW set NEW=%%t
Octopus.Server.exe health-check --instance OctopusServer
if errorlevel 1 exit /b 1

echo == Trust the new certificate on the Tentacle
cd /d "C:\Program Files\OctopusDeploy\Tentacle"
Tentacle.exe configure --trust="%NEW%"
if errorlevel 1 exit /b 1
"C:\Program Files\Octopus Deploy\Octopus\Octopus.Server.exe" health-check --instance OctopusServer
if errorlevel 1 exit /b 1
tentacle.exe service --restart
if errorlevel 1 exit /b 1
"C:\Program Files\Octopus Deploy\Octopus\Octopus.Server.exe" health-check --instance OctopusServer
if errorlevel 1 exit /b 1

echo == Import the new certificate on the Octopus Server
cd /d "C:\Program Files\Octopus Deploy\Octopus"
Octopus.Server.exe import-certificate --instance OctopusServer --from-file="C:\PathToCertificate\newcert.pfx" --pfx-password MySecretPassword
if errorlevel 1 exit /b 1
Octopus.Server.exe service --instance OctopusServer --restart
if errorlevel 1 exit /b 1
Octopus.Server.exe health-check --instance OctopusServer
if errorlevel 1 exit /b 1

echo == Stop trusting the old certificate
"C:\Program Files\OctopusDeploy\Tentacle\Tentacle.exe" configure --instance Tentacle --remove-trust %OLD%
if errorlevel 1 exit /b 1
"C:\Program Files\OctopusDeploy\Tentacle\Tentacle.exe" service --instance Tentacle --restart
if errorlevel 1 exit /b 1
Octopus.Server.exe health-check --instance OctopusServer
if errorlevel 1 exit /b 1

echo == A new certificate for the Tentacle
"C:\Program Files\OctopusDeploy\Tentacle\Tentacle.exe" new-certificate
if errorlevel 1 exit /b 1
"C:\Program Files\OctopusDeploy\Tentacle\Tentacle.exe" service --restart
if errorlevel 1 exit /b 1
"C:\Program Files\OctopusDeploy\Tentacle\Tentacle.exe" show-thumbprint --export-file="%TEMP%\tentacle.txt" >nul
if errorlevel 1 exit /b 1
set /p TENTACLE_TP=<"%TEMP%\tentacle.txt"
rem Until the Server pins it, the check fails: that is what the seed warns of.
Octopus.Server.exe health-check --instance OctopusServer
echo health-check exit code: %ERRORLEVEL%
Octopus.Server.exe update-target --name Tentacle --thumbprint %TENTACLE_TP%
if errorlevel 1 exit /b 1
Octopus.Server.exe health-check --instance OctopusServer
if errorlevel 1 exit /b 1
echo == The services, then their removal
"C:\Program Files\OctopusDeploy\Tentacle\Tentacle.exe" service --status
Octopus.Server.exe service --instance OctopusServer --status
"C:\Program Files\OctopusDeploy\Tentacle\Tentacle.exe" service --stop --uninstall
if errorlevel 1 exit /b 1
Octopus.Server.exe service --instance OctopusServer --stop --uninstall
if errorlevel 1 exit /b 1
"C:\Program Files\OctopusDeploy\Tentacle\Tentacle.exe" service --status
echo status exit code: %ERRORLEVEL%
echo == Done
exit /b 0
